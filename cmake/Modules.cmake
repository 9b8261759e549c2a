# nervemap_module(<name> DEPS <targets...>): a library from src/<name>/*.cpp with one public header
# src/<name>/<name>.h, included as "<name>/<name>.h".
function(nervemap_module name)
  cmake_parse_arguments(M "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cpp)
  add_library(nervemap_${name} STATIC ${sources})
  target_include_directories(nervemap_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(nervemap_${name} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
  add_library(nervemap::${name} ALIAS nervemap_${name})
endfunction()

# nervemap_module_tests(<module> DEPS ...): one GoogleTest binary per tests/<module>/<stem>_test.cpp,
# named test_<module>_<stem>. Files named *_slow_test.cpp get the CTest label `<module>_slow` (make test runs
# them too; `ctest -LE slow` skips them while iterating).
function(nervemap_module_tests module)
  cmake_parse_arguments(T "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${module}/*_test.cpp)
  foreach(source ${sources})
    get_filename_component(stem ${source} NAME_WE)
    string(REGEX REPLACE "_test$" "" stem ${stem})
    set(target test_${module}_${stem})
    add_executable(${target} ${source})
    target_link_libraries(${target} PRIVATE nervemap::${module} ${T_DEPS} nervemap_testsupport GTest::gtest
                                            GTest::gmock GTest::gtest_main)
    set(labels ${module})
    # One label per test: gtest_discover_tests splits a list-valued property. `server_slow` is still
    # selected by `ctest -L server` and left out by `ctest -LE slow` (both take regular expressions).
    if(stem MATCHES "_slow$")
      set(labels ${module}_slow)
    endif()
    gtest_discover_tests(${target}
      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
      PROPERTIES LABELS "${labels}"
                 ENVIRONMENT "NERVEMAP_SHARED=${NERVEMAP_SHARED_DIR};NERVEMAP_BIN=${CMAKE_BINARY_DIR}/bin/nervemap"
      DISCOVERY_TIMEOUT 60)
  endforeach()
endfunction()
