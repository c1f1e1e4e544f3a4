#include <napi.h>
static Napi::Object Init(Napi::Env, Napi::Object exports) { return exports; }
NODE_API_MODULE(vtl_native, Init)
