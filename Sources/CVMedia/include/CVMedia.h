/*
 * libCVMedia.so — OpenCV's image codecs and video I/O as a plugin that CVBridge loads on first
 * use (the contract, and why, in Sources/CVBridge/MediaPlugin.h). Nothing links against it; its
 * one exported symbol is the entry point below, which CVBridge finds with dlsym.
 */
#ifndef CVMEDIA_H
#define CVMEDIA_H

#include "MediaPlugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The plugin's table (CVM_ENTRY_POINT); static, valid for the life of the process. */
const cvm_table *cvm_media_table(void);

#ifdef __cplusplus
}
#endif

#endif /* CVMEDIA_H */
