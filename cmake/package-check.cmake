# Read by cpack (CPACK_PROJECT_CONFIG_FILE) once per generator.
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_XCA_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "the Debian package needs a build configured with "
    "-DCMAKE_INSTALL_PREFIX=/usr (this one has ${CPACK_XCA_INSTALL_PREFIX})")
endif()
