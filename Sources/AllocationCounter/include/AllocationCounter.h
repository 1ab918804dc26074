/*
 * AllocationCounter — counts heap allocations when preloaded (LD_PRELOAD), so `listen bench`
 * can report allocations per frame. Built as libAllocationCounter.so; never linked into the
 * programs themselves.
 */
#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

#include <stdint.h>

/** malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign calls since start. */
uint64_t lttw_allocation_count(void);

#endif
