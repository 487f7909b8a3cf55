/* mem.h - give memory the process freed back to the system. */
#ifndef AU_MEM_H
#define AU_MEM_H

/* Return freed pages to the system now: jemalloc's purge of every arena when the program
 * links jemalloc, malloc_trim(0) with glibc's allocator. Long runs call it between units of
 * work (a backfill chunk) so their resident size stays that of one unit's live memory, not
 * of everything allocated during the allocator's decay time. Thread-safe; costs one
 * madvise per run of free pages. */
void au_mem_trim(void);

/* From now on return freed pages to the system at once instead of after the allocator's
 * decay time (jemalloc: dirty/muzzy decay 0 on every arena; glibc: trim and mmap
 * thresholds of 128 KiB). For long, I/O-bound runs (backfills), where a little CPU buys a
 * resident size that does not grow with the length of the run. */
void au_mem_eager(void);

#endif
