# The browser viewer: web/ (plain ES modules) and NiiVue's self-contained ESM build, copied into
# ${CMAKE_BINARY_DIR}/web where `nervemap serve` finds them (bin/../web). Nothing is loaded from a CDN:
# NiiVue comes from node_modules, installed by `npm ci` (Makefile `deps`) from the committed lock file.
set(NERVEMAP_NIIVUE_DIR ${PROJECT_SOURCE_DIR}/node_modules/@niivue/niivue/dist)
set(NERVEMAP_WEB_OUT ${CMAKE_BINARY_DIR}/web)
if(NOT EXISTS ${NERVEMAP_NIIVUE_DIR}/index.js)
  message(WARNING "NiiVue is not installed (${NERVEMAP_NIIVUE_DIR}): run `npm ci` in the source folder; "
                  "the server builds, but its viewer will not load")
endif()
file(GLOB_RECURSE nervemap_web_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/web/*)
# NiiVue installed after a first build (npm ci, then cmake again) must be copied too.
if(EXISTS ${NERVEMAP_NIIVUE_DIR}/index.js)
  list(APPEND nervemap_web_sources ${NERVEMAP_NIIVUE_DIR}/index.js)
endif()
add_custom_command(
  OUTPUT ${NERVEMAP_WEB_OUT}/.stamp
  COMMAND ${CMAKE_COMMAND} -E remove_directory ${NERVEMAP_WEB_OUT}
  COMMAND ${CMAKE_COMMAND} -E copy_directory ${PROJECT_SOURCE_DIR}/web ${NERVEMAP_WEB_OUT}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${NERVEMAP_WEB_OUT}/vendor/niivue
  COMMAND ${CMAKE_COMMAND} -DSRC=${NERVEMAP_NIIVUE_DIR} -DDST=${NERVEMAP_WEB_OUT}/vendor/niivue
          -P ${PROJECT_SOURCE_DIR}/cmake/CopyNiivue.cmake
  COMMAND ${CMAKE_COMMAND} -E touch ${NERVEMAP_WEB_OUT}/.stamp
  DEPENDS ${nervemap_web_sources} ${PROJECT_SOURCE_DIR}/package-lock.json
  COMMENT "Copying the viewer and NiiVue into ${NERVEMAP_WEB_OUT}")
add_custom_target(viewer ALL DEPENDS ${NERVEMAP_WEB_OUT}/.stamp)
add_dependencies(nervemap viewer)
