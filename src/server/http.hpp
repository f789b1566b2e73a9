#pragma once
// cpp-httplib. Its feature macros (CPPHTTPLIB_OPENSSL_SUPPORT, ...) come from the
// build (pkg-config), so every file that includes it agrees with the compiled library.
#include <httplib.h>

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#error "compile with cpp-httplib's pkg-config flags (see CMakeLists.txt)"
#endif
