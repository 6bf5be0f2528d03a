# tide_set_warnings(target): the warning set tide's own code compiles clean under, with gcc and
# clang alike. Applied per target so a parent project's flags are never touched.
function(tide_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4)
    if(TIDE_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE /WX)
    endif()
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                             -Wstrict-prototypes -Wmissing-prototypes)
    if(TIDE_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
