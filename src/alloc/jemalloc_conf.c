/* jemalloc_conf.c - jemalloc defaults of the aurum programs (compiled into each program that
 * links au_malloc; see CMakeLists.txt). Return freed pages to the system after about a
 * second instead of ten and skip the "muzzy" stage: the Kafka sink's peak RSS for 50k-row
 * batches drops from ~90 MB to ~70 MB at the same speed. The MALLOC_CONF environment
 * variable still overrides these. */
const char *malloc_conf = "dirty_decay_ms:1000,muzzy_decay_ms:0";
