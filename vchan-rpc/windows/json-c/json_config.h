/* json_config.h for the mingw-w64 build of json-c (see config.h here). */
#define JSON_C_HAVE_INTTYPES_H 1
