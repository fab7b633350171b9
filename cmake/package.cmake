# Debian package: `cpack -G DEB` in a build directory configured with
# -DCMAKE_INSTALL_PREFIX=/usr (README "Install on a Debian broker").

set(XCA_PACKAGE_MAINTAINER "x509ca maintainers <x509ca@example.invalid>"
  CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mosquitto-x509ca)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${XCA_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "X.509 CA device authentication plugin for Mosquitto")
set(CPACK_PACKAGE_DESCRIPTION
  "A Mosquitto 2.0 broker plugin that authenticates devices by X.509 certificate\n\
the way Azure IoT Hub's X.509 CA authentication does: CAs are trusted after a\n\
proof of possession, devices and modules live in an identity registry in\n\
Redis, and each device is confined to its own IoT-Hub-style topics. Includes\n\
the operator CLI x509ca-admin and the PKI helper x509ca-pki.")
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The plugin needs the broker (plugin API v5, Mosquitto 2.0); x509ca-admin
# needs mosquitto_rr and openssl, x509ca-pki openssl.
set(xca_depends "mosquitto (>= 2.0), mosquitto-clients, openssl")
find_program(XCA_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(XCA_DPKG_SHLIBDEPS)
  # The shared libraries the plugin links (libc6, libssl3, libhiredis0.14,
  # libcjson1) with the versions the build needs.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(xca_depends "${xca_depends}, libc6, libssl3, libhiredis0.14, libcjson1")
endif()
set(CPACK_DEBIAN_PACKAGE_DEPENDS ${xca_depends})

# Files under /etc are conffiles: an upgrade keeps the operator's edits.
set(xca_conffiles ${PROJECT_BINARY_DIR}/debian/conffiles)
file(WRITE ${xca_conffiles}
  "${CMAKE_INSTALL_FULL_SYSCONFDIR}/mosquitto/conf.d/x509ca.conf.example\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${xca_conffiles})
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# cpack installs into /usr, but the library and configuration directories
# were fixed when CMake ran: refuse to package another prefix's layout.
set(CPACK_XCA_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_LIST_DIR}/package-check.cmake)

include(CPack)
