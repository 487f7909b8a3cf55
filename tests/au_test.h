/* au_test.h - a tiny test harness: TEST(name) functions, checks that print both sides,
 * and a closing "N passed, N failed" line. */
#ifndef AU_TEST_H
#define AU_TEST_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int au_t_failed_checks;
static int au_t_cur_failed;

#define CHECK(cond)                                                                       \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);        \
      au_t_failed_checks++;                                                               \
      au_t_cur_failed = 1;                                                                \
    }                                                                                     \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                                \
  do {                                                                                    \
    long long _a = (long long)(a), _b = (long long)(b);                                   \
    if (_a != _b) {                                                                       \
      fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, \
              #b, _a, _b);                                                                \
      au_t_failed_checks++;                                                               \
      au_t_cur_failed = 1;                                                                \
    }                                                                                     \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                                \
  do {                                                                                    \
    const char *_a = (a), *_b = (b);                                                      \
    if (!_a || !_b || strcmp(_a, _b) != 0) {                                              \
      fprintf(stderr, "  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
              #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");                            \
      au_t_failed_checks++;                                                               \
      au_t_cur_failed = 1;                                                                \
    }                                                                                     \
  } while (0)

#define CHECK_NEAR(a, b, eps)                                                             \
  do {                                                                                    \
    double _a = (a), _b = (b);                                                            \
    if (!(fabs(_a - _b) <= (eps))) {                                                      \
      fprintf(stderr, "  %s:%d: %s ~= %s failed: %.17g != %.17g\n", __FILE__, __LINE__,   \
              #a, #b, _a, _b);                                                            \
      au_t_failed_checks++;                                                               \
      au_t_cur_failed = 1;                                                                \
    }                                                                                     \
  } while (0)

typedef void (*au_test_fn)(void);
struct au_test_case {
  const char *name;
  au_test_fn fn;
};

#define TEST(name) static void name(void)
#define TEST_LIST static const struct au_test_case au_tests[] =
#define T(name) {#name, name}

static inline int au_test_main(const struct au_test_case *tests, size_t n, int argc, char **argv) {
  int passed = 0, failed = 0;
  for (size_t i = 0; i < n; i++) {
    if (argc > 1 && strstr(tests[i].name, argv[1]) == NULL)
      continue;
    au_t_cur_failed = 0;
    tests[i].fn();
    if (au_t_cur_failed) {
      failed++;
      fprintf(stderr, "FAIL %s\n", tests[i].name);
    } else {
      passed++;
      fprintf(stderr, "ok   %s\n", tests[i].name);
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

#define AU_TEST_MAIN()                                                                    \
  int main(int argc, char **argv) {                                                       \
    return au_test_main(au_tests, sizeof(au_tests) / sizeof(au_tests[0]), argc, argv);    \
  }

/* Read a whole file (test data); aborts on failure. */
static inline char *au_test_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    abort();
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc((size_t)n + 1);
  if (fread(p, 1, (size_t)n, f) != (size_t)n)
    abort();
  p[n] = 0;
  fclose(f);
  if (len)
    *len = (size_t)n;
  return p;
}

/* Path of a file under tests/data (AU_TEST_DATA env, else ../tests/data). */
static inline const char *au_test_data(const char *rel) {
  static char buf[4][1024];
  static int k;
  const char *base = getenv("AU_TEST_DATA");
  char *out = buf[k++ & 3];
  snprintf(out, 1024, "%s/%s", base ? base : "tests/data", rel);
  return out;
}
#endif
