# Fails if libtide.a defines a global symbol without the tide_ / tide__ prefix: two libraries
# that vendor tide (or tide and anything else) must never collide at link time.
execute_process(COMMAND ${NM} -g --defined-only ${LIB} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${LIB}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(bad "")
set(count 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^[0-9a-fA-F]+ [A-Z] (.+)$")
    set(sym "${CMAKE_MATCH_1}")
    # Mach-O (macOS) spells every C name with a leading underscore: SYMBOL_PREFIX is that.
    if(SYMBOL_PREFIX AND sym MATCHES "^${SYMBOL_PREFIX}(.+)$")
      set(sym "${CMAKE_MATCH_1}")
    endif()
    math(EXPR count "${count} + 1")
    # Sanitizer instrumentation adds its own bookkeeping symbols (__odr_asan.*), and mingw-w64's
    # gcc an indirection pointer (.refptr.<symbol>, a COMDAT) for references to a symbol another
    # object defines; they are the toolchain's, not tide's.
    if(NOT sym MATCHES "^tide_" AND NOT sym MATCHES "^__odr_asan"
       AND NOT sym MATCHES "^\\.refptr\\.tide_")
      list(APPEND bad "${sym}")
    endif()
  endif()
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "nm listed no symbols in ${LIB}: the check would prove nothing")
endif()
if(bad)
  message(FATAL_ERROR "unprefixed global symbols in ${LIB}: ${bad}")
endif()
message(STATUS "${count} global symbols, all prefixed tide_")
