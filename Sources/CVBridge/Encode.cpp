// Image encoding, through OpenCV's encoders in the media plugin (MediaPlugin.h), and the encoded
// buffers it hands back.
#include "Internal.hpp"
#include "MediaLibrary.hpp"

extern "C" cvb_status cvb_encode(const cvb_view *image, cvb_image_format format, int32_t quality, cvb_buffer **out,
                                 cvb_error *error) {
    cv::Mat m;
    if (!cvb::matFromView(image, m) || out == nullptr) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "encode: bad image or output");
    }
    *out = nullptr;
    const cvm_table *media = cvb::media(error);
    if (media == nullptr) return CVB_ERR_MISSING_LIBRARY;
    return media->encode(image, format, quality, out, error);
}

extern "C" const uint8_t *cvb_buffer_data(const cvb_buffer *buffer) {
    return buffer ? buffer->bytes.data() : nullptr;
}
extern "C" size_t cvb_buffer_size(const cvb_buffer *buffer) { return buffer ? buffer->bytes.size() : 0; }
extern "C" void cvb_buffer_free(cvb_buffer *buffer) { delete buffer; }
