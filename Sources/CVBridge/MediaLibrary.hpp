// The plugin with OpenCV's image codecs and video I/O (MediaPlugin.h), loaded on first use.
#pragma once

#include "MediaPlugin.h"

namespace cvb {

/// The environment variable that names the plugin's file instead of the usual places (tests, and
/// installs that keep it elsewhere).
constexpr const char *kMediaLibraryOverride = "LTTW_MEDIA_LIBRARY";

/// The plugin's table, loaded on the first call (thread-safe, once per process; the result, table
/// or failure, never changes afterwards). When it cannot be loaded: nullptr, with
/// CVB_ERR_MISSING_LIBRARY and a message saying where it was looked for, why each place failed
/// and what needs it.
const cvm_table *media(cvb_error *error);

}  // namespace cvb
