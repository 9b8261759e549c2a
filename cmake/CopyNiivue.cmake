# cmake -DSRC=... -DDST=... -P CopyNiivue.cmake: NiiVue's ESM bundle and its source map, if installed.
if(EXISTS ${SRC}/index.js)
  file(COPY ${SRC}/index.js ${SRC}/index.js.map DESTINATION ${DST})
else()
  message(WARNING "NiiVue not found in ${SRC}: run `npm ci`; the viewer will not load")
endif()
