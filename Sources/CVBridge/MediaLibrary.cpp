// Finds and loads libCVMedia.so (MediaPlugin.h says why it is a plugin): first the file that
// LTTW_MEDIA_LIBRARY names, if set; otherwise next to the running executable (the folder of
// /proc/self/exe, which resolves symlinks: .build/release/listen, the test bundle in .build/debug,
// /opt/listentotheworld/bin/assistd), then by name through the dynamic loader's search path
// (LD_LIBRARY_PATH, ld.so.cache) for installed copies.
#include "MediaLibrary.hpp"
#include "Internal.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

/// What loading came to: the table, or why there is none.
struct Loaded {
    const cvm_table *table = nullptr;
    std::string failure;
};

/// The folder of the running executable, with its trailing slash; empty when unknown.
std::string executableFolder() {
    char path[PATH_MAX];
    const ssize_t length = ::readlink("/proc/self/exe", path, sizeof(path));
    if (length <= 0 || size_t(length) >= sizeof(path)) return {};
    const std::string file(path, size_t(length));
    const size_t slash = file.rfind('/');
    return slash == std::string::npos ? std::string() : file.substr(0, slash + 1);
}

std::string loaderError() {
    const char *text = ::dlerror();
    return text != nullptr ? text : "unknown dynamic loader error";
}

/// Opens one candidate and checks its entry point and ABI version; on failure, says why in `why`.
/// The handle of a good plugin is never closed: its table is used for the rest of the process.
const cvm_table *open(const std::string &candidate, std::string &why) {
    void *handle = ::dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        why = loaderError();
        return nullptr;
    }
    const auto entry = reinterpret_cast<cvm_entry_point>(::dlsym(handle, CVM_ENTRY_POINT));
    const cvm_table *table = entry != nullptr ? entry() : nullptr;
    if (table == nullptr) {
        why = candidate + ": no " CVM_ENTRY_POINT " table (not a CVMedia plugin)";
    } else if (table->abi_version != CVM_ABI_VERSION) {
        why = candidate + ": plugin ABI version " + std::to_string(table->abi_version) + ", this binary needs " +
              std::to_string(CVM_ABI_VERSION) + " (install the " CVM_LIBRARY_NAME " built with it)";
        table = nullptr;
    }
    if (table == nullptr) ::dlclose(handle);
    return table;
}

Loaded load() {
    constexpr const char *kNeed =
        "video files, cameras, BMP, WebP and TIFF images and image encoding need " CVM_LIBRARY_NAME;
    Loaded loaded;
    std::string why;
    const char *override = std::getenv(cvb::kMediaLibraryOverride);
    if (override != nullptr && override[0] != '\0') {
        loaded.table = open(override, why);
        if (loaded.table == nullptr) {
            loaded.failure = std::string(kNeed) + "; it could not be loaded from " + cvb::kMediaLibraryOverride +
                             "=" + override + ": " + why + " (unset " + cvb::kMediaLibraryOverride +
                             " to use the copy next to the binary)";
        }
        return loaded;
    }
    const std::string folder = executableFolder();
    std::vector<std::string> reasons;
    if (!folder.empty()) {
        loaded.table = open(folder + CVM_LIBRARY_NAME, why);
        if (loaded.table != nullptr) return loaded;
        reasons.push_back(why);
    }
    loaded.table = open(CVM_LIBRARY_NAME, why);
    if (loaded.table != nullptr) return loaded;
    reasons.push_back(why + " (library search path)");
    loaded.failure = std::string(kNeed) + "; install it next to the binary" +
                     (folder.empty() ? std::string() : " (" + folder + ")") + " or set " +
                     cvb::kMediaLibraryOverride + " to its path. Tried:";
    for (const std::string &reason : reasons) loaded.failure += " " + reason + ";";
    loaded.failure.pop_back();
    return loaded;
}

}  // namespace

const cvm_table *cvb::media(cvb_error *error) {
    // A function-local static is initialised exactly once, by the first caller, while any others
    // wait (C++11 [stmt.dcl]/4: the call_once guarantee); const, it never changes afterwards.
    static const Loaded loaded = load();
    if (loaded.table == nullptr) fail(error, CVB_ERR_MISSING_LIBRARY, "%s", loaded.failure.c_str());
    return loaded.table;
}
