# pcom_add_idl(<target> FILES a.idl ... [INCLUDE_DIRS dir ...] [OUTPUT_DIR dir])
#
# Compiles each IDL file with pcomidl (with its depfile, so a change in an
# imported file regenerates what imports it) and makes <target> a static
# library of the generated GUID definitions whose include path has the
# generated headers. Link <target> to use the interfaces.
function(pcom_add_idl target)
  cmake_parse_arguments(ARG "" "OUTPUT_DIR" "FILES;INCLUDE_DIRS" ${ARGN})
  if(NOT ARG_FILES)
    message(FATAL_ERROR "pcom_add_idl(${target}): no FILES given")
  endif()
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/${target}_idl)
  endif()
  file(MAKE_DIRECTORY ${ARG_OUTPUT_DIR})
  set(include_flags "")
  foreach(dir IN LISTS ARG_INCLUDE_DIRS)
    list(APPEND include_flags -I ${dir})
  endforeach()
  set(sources "")
  set(headers "")
  foreach(idl IN LISTS ARG_FILES)
    get_filename_component(abs ${idl} ABSOLUTE)
    get_filename_component(name ${idl} NAME_WE)
    get_filename_component(dir ${abs} DIRECTORY)
    set(h ${ARG_OUTPUT_DIR}/${name}.h)
    set(i ${ARG_OUTPUT_DIR}/${name}_i.c)
    set(d ${ARG_OUTPUT_DIR}/${name}.d)
    add_custom_command(
      OUTPUT ${h} ${i}
      COMMAND $<TARGET_FILE:pcomidl> -Werror -I ${dir} ${include_flags} -o ${ARG_OUTPUT_DIR}
              --depfile ${d} ${abs}
      DEPENDS ${abs} pcomidl
      DEPFILE ${d}
      COMMENT "pcomidl ${name}.idl"
      VERBATIM)
    list(APPEND sources ${i})
    list(APPEND headers ${h})
  endforeach()
  add_library(${target} STATIC ${sources} ${headers})
  target_include_directories(${target} PUBLIC ${ARG_OUTPUT_DIR} ${ARG_INCLUDE_DIRS})
  target_link_libraries(${target} PUBLIC pcom_headers)
  # headers generated from other IDL include pcom.h, generated from the standard IDL
  if(TARGET pcom_std_idl AND NOT target STREQUAL pcom_std_idl)
    add_dependencies(${target} pcom_std_idl)
  endif()
endfunction()
