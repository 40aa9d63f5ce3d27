# pcom_add_idl(<target> FILES a.idl ... [INCLUDE_DIRS dir ...] [OUTPUT_DIR dir])
#
# Compiles each IDL file with pcomidl (with its depfile, so a change in an
# imported file regenerates what imports it) and makes <target> a static
# library of the generated GUID definitions (foo_i.c) and proxy/stub tables
# (foo_p.c) whose include path has the generated headers. Link <target> to use
# the interfaces.
#
# The proxy/stub tables call the runtime, so when the pcom library is part of
# the build <target> links it, and every program linking <target> keeps each
# foo_p.c (the linker is told to keep its foo_ProxyFileInfo symbol, which a
# static library's member would otherwise lose): linking the library is what
# makes the interfaces known to the runtime.
#
# pcom_std_idl, the standard IDL built into libpcom itself, is an object
# library instead: its objects go into libpcom, so the runtime and the tables
# it needs are one archive and nothing links in a cycle.
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
  set(keep "")
  foreach(idl IN LISTS ARG_FILES)
    get_filename_component(abs ${idl} ABSOLUTE)
    # pcomidl strips only the last extension: foo.v2.idl makes foo.v2.h
    get_filename_component(name ${idl} NAME_WLE)
    get_filename_component(dir ${abs} DIRECTORY)
    set(h ${ARG_OUTPUT_DIR}/${name}.h)
    set(i ${ARG_OUTPUT_DIR}/${name}_i.c)
    set(p ${ARG_OUTPUT_DIR}/${name}_p.c)
    set(d ${ARG_OUTPUT_DIR}/${name}.d)
    add_custom_command(
      OUTPUT ${h} ${i} ${p}
      COMMAND $<TARGET_FILE:pcomidl> -Werror -I ${dir} ${include_flags} -o ${ARG_OUTPUT_DIR}
              --depfile ${d} ${abs}
      DEPENDS ${abs} pcomidl
      DEPFILE ${d}
      COMMENT "pcomidl ${name}.idl"
      VERBATIM)
    list(APPEND sources ${i} ${p})
    list(APPEND headers ${h})
    # the symbol pcomidl names after the file: string(MAKE_C_IDENTIFIER) is its rule too
    string(MAKE_C_IDENTIFIER "${name}" ident)
    list(APPEND keep "LINKER:-u,${ident}_ProxyFileInfo")
  endforeach()
  if(target STREQUAL pcom_std_idl)
    add_library(${target} OBJECT ${sources} ${headers})
  else()
    add_library(${target} STATIC ${sources} ${headers})
  endif()
  target_include_directories(${target} PUBLIC ${ARG_OUTPUT_DIR} ${ARG_INCLUDE_DIRS})
  target_link_libraries(${target} PUBLIC pcom_headers)
  if(target STREQUAL pcom_std_idl OR TARGET pcom)
    target_link_options(${target} INTERFACE ${keep})
  endif()
  if(TARGET pcom AND NOT target STREQUAL pcom_std_idl)
    target_link_libraries(${target} PUBLIC pcom)
  endif()
  # headers generated from other IDL include pcom.h, generated from the standard IDL
  if(TARGET pcom_std_idl AND NOT target STREQUAL pcom_std_idl)
    add_dependencies(${target} pcom_std_idl)
  endif()
endfunction()
