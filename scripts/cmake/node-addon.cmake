# What every semembed N-API addon built by cmake-js shares (cmake-js supplies CMAKE_JS_INC / CMAKE_JS_SRC /
# CMAKE_JS_LIB): C++17, position-independent code, Release unless told, N-API version 6 (node-api-headers, so
# nothing is downloaded). include() it after project(); then node_addon(<target> <sources>...).
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release)
endif()
add_definitions(-DNAPI_VERSION=6)
include_directories(${CMAKE_JS_INC})

# A shared library <target>.node (no lib prefix) from the sources plus cmake-js's glue, linked with node's import
# library. Link the rest with the plain target_link_libraries(<target> ...) signature, as this does.
function(node_addon target)
  add_library(${target} SHARED ${ARGN} ${CMAKE_JS_SRC})
  set_target_properties(${target} PROPERTIES PREFIX "" SUFFIX ".node")
  target_link_libraries(${target} ${CMAKE_JS_LIB})
endfunction()
