// The plugin's one exported symbol: the table CVBridge loads (MediaPlugin.h).
#include "CVMedia.h"
#include "Media.hpp"

__attribute__((visibility("default"))) const cvm_table *cvm_media_table(void) {
    static const cvm_table table = {
        CVM_ABI_VERSION,
        cvm::decode,
        cvm::encode,
        cvm::videoOpenFile,
        cvm::videoOpenCamera,
        cvm::videoInfo,
        cvm::videoRead,
        cvm::videoSkip,
        cvm::videoClose,
        cvm::videoCheckFrameCount,
        cvm::writerOpen,
        cvm::writerWrite,
        cvm::writerClose,
    };
    return &table;
}
