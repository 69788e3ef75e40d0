# Packages built with CPack: deb and rpm on Linux (a systemd service), an MSI on Windows
# (cmake/PackagingWindows.cmake), a pkg on macOS (cmake/PackagingMacos.cmake).
#   cmake --preset release && cmake --build build/release && cd build/release && cpack
# tests/installer/linux_packages_test.sh builds, checks and installs the deb and the rpm.

set(CPACK_PACKAGE_NAME opampsupervisor)
set(CPACK_PACKAGE_VENDOR "opampsupervisor-cpp developers")
set(CPACK_PACKAGE_CONTACT "opampsupervisor-cpp developers <opampsupervisor-cpp@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "OpAMP supervisor for the OpenTelemetry Collector")
set(CPACK_PACKAGE_DESCRIPTION "Runs an OpenTelemetry Collector as a child process and manages it
from an OpAMP server: remote configuration with validation and
rollback, health and effective-config reporting, and the Go
supervisor's config file format.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_HOMEPAGE_URL "https://opentelemetry.io/docs/specs/opamp/")
set(CPACK_RESOURCE_FILE_README ${PROJECT_SOURCE_DIR}/README.md)
# Debug builds package too (the CI does), with the symbols left out.
set(CPACK_STRIP_FILES TRUE)

if(OPAMPSUP_PLATFORM STREQUAL "linux")
    if(CPACK_PACKAGING_INSTALL_PREFIX)
        set(_prefix ${CPACK_PACKAGING_INSTALL_PREFIX})
    else()
        set(_prefix /usr)
    endif()
    set(CPACK_PACKAGING_INSTALL_PREFIX ${_prefix})
    set(BIN_DIR ${_prefix}/${CMAKE_INSTALL_BINDIR})
    set(DOC_DIR ${_prefix}/share/doc/opampsupervisor)
    set(CONFIG_DIR /etc/opampsupervisor)
    set(_linux ${PROJECT_SOURCE_DIR}/installer/linux)
    configure_file(${_linux}/opampsupervisor.service.in
        ${PROJECT_BINARY_DIR}/installer/opampsupervisor.service @ONLY)
    # /usr/lib is where both Debian (merged /usr) and the rpm distributions look.
    install(FILES ${PROJECT_BINARY_DIR}/installer/opampsupervisor.service
        DESTINATION lib/systemd/system)
    install(FILES ${_linux}/config.yaml ${_linux}/opampsupervisor.conf
        DESTINATION ${CONFIG_DIR})
    install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/configuration.md
        ${_linux}/copyright
        DESTINATION share/doc/opampsupervisor)
    add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/installer/opampsupervisor.1.gz
        COMMAND gzip -9nc ${_linux}/opampsupervisor.1 > ${PROJECT_BINARY_DIR}/installer/opampsupervisor.1.gz
        DEPENDS ${_linux}/opampsupervisor.1 VERBATIM)
    # Debian wants its changelog compressed, reproducibly (no name or time in the header).
    add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/installer/changelog.Debian.gz
        COMMAND gzip -9nc ${_linux}/changelog > ${PROJECT_BINARY_DIR}/installer/changelog.Debian.gz
        DEPENDS ${_linux}/changelog VERBATIM)
    add_custom_target(opampsup_package_docs ALL
        DEPENDS ${PROJECT_BINARY_DIR}/installer/changelog.Debian.gz
            ${PROJECT_BINARY_DIR}/installer/opampsupervisor.1.gz)
    install(FILES ${PROJECT_BINARY_DIR}/installer/opampsupervisor.1.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
    install(FILES ${PROJECT_BINARY_DIR}/installer/changelog.Debian.gz
        DESTINATION share/doc/opampsupervisor)

    set(CPACK_GENERATOR "DEB;RPM")

    set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
    # The Debian revision (0.1.0-1) of this packaging; the changelog names it too.
    set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
    set(CPACK_DEBIAN_PACKAGE_SECTION admin)
    set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
    # adduser and the deb-systemd-* helpers run in the maintainer scripts.
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, init-system-helpers (>= 1.52)")
    set(CPACK_DEBIAN_PACKAGE_SUGGESTS "otelcol-contrib")
    set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
        ${_linux}/deb/conffiles ${_linux}/deb/postinst ${_linux}/deb/prerm ${_linux}/deb/postrm)
    set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

    set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
    set(CPACK_RPM_PACKAGE_RELEASE 1)
    set(CPACK_RPM_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
    set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
    # No /usr/lib/.build-id links: they would clash with a debuginfo package's.
    set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")
    set(CPACK_RPM_PACKAGE_LICENSE "none chosen yet")
    set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
    set(CPACK_RPM_PACKAGE_AUTOREQ ON)
    set(CPACK_RPM_PACKAGE_REQUIRES_PRE "shadow-utils")
    set(CPACK_RPM_PRE_INSTALL_SCRIPT_FILE ${_linux}/rpm/pre)
    set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${_linux}/rpm/post)
    set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${_linux}/rpm/preun)
    set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${_linux}/rpm/postun)
    # The config may carry credentials: the service's group reads it, others do not.
    set(CPACK_RPM_USER_FILELIST
        "%config(noreplace) %attr(0640,root,opampsupervisor) /etc/opampsupervisor/config.yaml"
        "%config(noreplace) %attr(0640,root,opampsupervisor) /etc/opampsupervisor/opampsupervisor.conf")
    # Directories the system owns; the package must not claim them.
    set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
        /etc /usr/lib/systemd /usr/lib/systemd/system /usr/share/doc /usr/share/man
        /usr/share/man/man1)
elseif(WIN32)
    include(PackagingWindows)
elseif(APPLE)
    include(PackagingMacos)
endif()

include(CPack)
