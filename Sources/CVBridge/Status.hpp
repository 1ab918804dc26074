// Status results and the exception barrier of the bridge's C functions; OpenCV-free, so the
// integer-only parts (Lamps.cpp) build alone, for AArch64 under qemu too (scripts/test_neon.sh).
#pragma once

#include "CVBridge.h"

#include <cstdarg>
#include <cstdio>
#include <exception>
#include <new>

namespace cvb {

/// Writes a status and printf-style message into the caller's error, if any.
inline cvb_status fail(cvb_error *error, cvb_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

inline cvb_status fail(cvb_error *error, cvb_status status, const char *format, ...) {
    if (error != nullptr) {
        error->status = status;
        va_list args;
        va_start(args, format);
        std::vsnprintf(error->message, sizeof(error->message), format, args);
        va_end(args);
    }
    return status;
}

inline cvb_status ok(cvb_error *error) {
    if (error != nullptr) {
        error->status = CVB_OK;
        error->message[0] = '\0';
    }
    return CVB_OK;
}

/// Runs body, turning every C++ exception into a status so none crosses the C boundary. An
/// OpenCV error is a std::exception whose text starts "OpenCV(version)".
template <typename Body>
cvb_status guarded(cvb_error *error, const char *what, Body &&body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return fail(error, CVB_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    } catch (const std::exception &e) {
        return fail(error, CVB_ERR_INTERNAL, "%s: %s", what, e.what());
    } catch (...) {
        return fail(error, CVB_ERR_INTERNAL, "%s: unknown C++ exception", what);
    }
}

}  // namespace cvb
