#pragma once
// ALSA's PCM playback API: what a Raspberry Pi or Jetson wearable without a desktop has.
#include <alsa/asoundlib.h>
