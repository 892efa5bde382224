/*
 * config.h for json-c built with mingw-w64 (x86_64-w64-mingw32) by
 * vchan-rpc/windows/rules.mk. Written by hand from json-c's cmake/config.h.in,
 * so that the cross build needs neither CMake nor a configure run; each
 * entry was checked against mingw-w64's headers (Debian bookworm, 10.0).
 */
#define HAVE_FCNTL_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_LIMITS_H 1
#define HAVE_LOCALE_H 1
#define HAVE_MEMORY_H 1
#define HAVE_STDARG_H 1
#define HAVE_STDINT_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRINGS_H 1
#define HAVE_STRING_H 1
#define HAVE_SYS_PARAM_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_UNISTD_H 1

#define HAVE_DECL_INFINITY 1
#define HAVE_DECL_ISINF 1
#define HAVE_DECL_ISNAN 1
#define HAVE_DECL_NAN 1
#define HAVE_DECL__FINITE 1
#define HAVE_DECL__ISNAN 1

#define HAVE_OPEN 1
#define HAVE_REALLOC 1
#define HAVE_SETLOCALE 1
#define HAVE_SNPRINTF 1
#define HAVE_STRCASECMP 1
#define HAVE_STRDUP 1
#define HAVE_STRERROR 1
#define HAVE_STRNCASECMP 1
#define HAVE_VASPRINTF 1 /* mingw-w64's stdio.h has it */
#define HAVE_VPRINTF 1
#define HAVE_VSNPRINTF 1
#define HAVE_STRTOLL 1
#define HAVE_STRTOULL 1

/* No uselocale(), getrandom(), arc4random() nor /dev/urandom on Windows:
 * random_seed.c then takes its WIN32 path (CryptGenRandom). No threading
 * support: libvrpc uses a json-c object from one thread at a time. */

#define JSON_C_HAVE_INTTYPES_H 1

#define PACKAGE "json-c"
#define PACKAGE_BUGREPORT "json-c@googlegroups.com"
#define PACKAGE_STRING "json-c 0.16.0"
#define PACKAGE_TARNAME "json-c"
#define PACKAGE_URL "https://github.com/json-c/json-c"
#define PACKAGE_VERSION "0.16.0"
#define VERSION "0.16.0"

/* LLP64: long is 32 bits on Windows. */
#define SIZEOF_INT 4
#define SIZEOF_INT64_T 8
#define SIZEOF_LONG 4
#define SIZEOF_LONG_LONG 8
#define SIZEOF_SIZE_T 8
#define SIZEOF_SSIZE_T 8

#define STDC_HEADERS 1
