# macOS package: a flat .pkg made by CPack's productbuild generator.
#
# The package
# - installs <prefix>/bin/opampsupervisor, <prefix>/etc/opampsupervisor/config.yaml.default
#   and the launchd job <prefix>/share/opampsupervisor/io.opentelemetry.opampsupervisor.plist,
#   with <prefix> = /usr/local;
# - preinstall (installer/macos/preinstall) stops and unloads the daemon of an earlier install;
# - postinstall (installer/macos/postinstall.in) creates /var/lib/otelcol/supervisor (the
#   supervisor's default storage, root only) and /Library/Logs/opampsupervisor, copies
#   config.yaml.default to config.yaml unless a config.yaml exists (so upgrades keep it),
#   copies the job to /Library/LaunchDaemons and starts it with launchctl bootstrap.
# launchd runs `opampsupervisor --config <prefix>/etc/opampsupervisor/config.yaml` as root,
# restarts it when it fails and logs to /Library/Logs/opampsupervisor/opampsupervisor.log.
#
# Included by cmake/Packaging.cmake on APPLE, before include(CPack).

set(CPACK_GENERATOR "productbuild")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr/local")
# The package's identifier (pkgutil --pkgs), also the productbuild archive's.
set(CPACK_PRODUCTBUILD_IDENTIFIER "io.opentelemetry.opampsupervisor")

set(_opampsup_macos_dir "${CMAKE_CURRENT_LIST_DIR}/../installer/macos")
get_filename_component(_opampsup_macos_dir "${_opampsup_macos_dir}" ABSOLUTE)
set(_opampsup_macos_out "${PROJECT_BINARY_DIR}/installer/macos")

# Where the files land on the Mac. The job and the postinstall script need them as absolute
# paths, made from the package's prefix: CMAKE_INSTALL_PREFIX is for `cmake --install`.
if(IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}")
    message(FATAL_ERROR "the macOS package needs a relative CMAKE_INSTALL_BINDIR, "
                        "not ${CMAKE_INSTALL_BINDIR}")
endif()
set(_opampsup_macos_confdir "etc/opampsupervisor")
set(_opampsup_macos_sharedir "share/opampsupervisor")
set(OPAMPSUP_MACOS_BINDIR "${CPACK_PACKAGING_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}")
set(OPAMPSUP_MACOS_CONFDIR "${CPACK_PACKAGING_INSTALL_PREFIX}/${_opampsup_macos_confdir}")
set(OPAMPSUP_MACOS_SHAREDIR "${CPACK_PACKAGING_INSTALL_PREFIX}/${_opampsup_macos_sharedir}")

configure_file("${_opampsup_macos_dir}/io.opentelemetry.opampsupervisor.plist.in"
               "${_opampsup_macos_out}/io.opentelemetry.opampsupervisor.plist" @ONLY)
# Keeps the source's mode (0755); CPack makes the scripts it packs executable anyway.
configure_file("${_opampsup_macos_dir}/postinstall.in" "${_opampsup_macos_out}/postinstall"
               @ONLY)

# The job is copied into /Library/LaunchDaemons by postinstall rather than installed there:
# CPack ignores absolute DESTINATIONs, and the copy lets postinstall set owner and mode.
install(FILES "${_opampsup_macos_out}/io.opentelemetry.opampsupervisor.plist"
        DESTINATION "${_opampsup_macos_sharedir}")
# Shipped under another name, so that installing never writes over an edited config.yaml.
install(FILES "${_opampsup_macos_dir}/config.yaml"
        DESTINATION "${_opampsup_macos_confdir}"
        RENAME config.yaml.default)

# productbuild takes the installer's ReadMe, License and Welcome pages only as .txt, .rtf,
# .rtfd or .html ("Bad file extension specified" otherwise): a README.md goes in as .txt.
foreach(_opampsup_page README LICENSE WELCOME)
    set(_opampsup_file "${CPACK_RESOURCE_FILE_${_opampsup_page}}")
    if(_opampsup_file)
        get_filename_component(_opampsup_ext "${_opampsup_file}" LAST_EXT)
        if(NOT _opampsup_ext MATCHES "^\\.(txt|rtf|rtfd|html)$")
            get_filename_component(_opampsup_name "${_opampsup_file}" NAME_WLE)
            configure_file("${_opampsup_file}" "${_opampsup_macos_out}/${_opampsup_name}.txt"
                           COPYONLY)
            set(CPACK_RESOURCE_FILE_${_opampsup_page} "${_opampsup_macos_out}/${_opampsup_name}.txt")
        endif()
    endif()
endforeach()
unset(_opampsup_page)
unset(_opampsup_file)
unset(_opampsup_ext)
unset(_opampsup_name)

# productbuild's scripts. Without CPack components (this project installs everything in one
# package) CPack reads CPACK_PREFLIGHT_SCRIPT and CPACK_POSTFLIGHT_SCRIPT; with components it
# reads CPACK_<PRE|POST>FLIGHT_<COMPONENT>_SCRIPT, and the files above belong to the default
# component "Unspecified". Both spellings are set so that either layout gets the scripts.
set(CPACK_PREFLIGHT_SCRIPT "${_opampsup_macos_dir}/preinstall")
set(CPACK_POSTFLIGHT_SCRIPT "${_opampsup_macos_out}/postinstall")
set(CPACK_PREFLIGHT_UNSPECIFIED_SCRIPT "${CPACK_PREFLIGHT_SCRIPT}")
set(CPACK_POSTFLIGHT_UNSPECIFIED_SCRIPT "${CPACK_POSTFLIGHT_SCRIPT}")

unset(_opampsup_macos_dir)
unset(_opampsup_macos_out)
unset(_opampsup_macos_confdir)
unset(_opampsup_macos_sharedir)
