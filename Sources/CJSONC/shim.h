#ifndef WEIGHTKIT_CJSONC_SHIM_H
#define WEIGHTKIT_CJSONC_SHIM_H
#include <json-c/json.h>
#endif
