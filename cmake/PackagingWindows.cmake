# Windows packages: an MSI (CPack's WIX generator, WiX Toolset v3) and a ZIP.
#
# The MSI
# - installs bin\opampsupervisor.exe and config.yaml under
#   C:\Program Files\OpenTelemetry OpAMP Supervisor (the user may pick another folder);
# - registers the exe as the automatic service "opampsupervisor" (LocalSystem) run with
#   --config "<install dir>\config.yaml", restarted by the SCM when it crashes, started at
#   the end of the install, stopped before an upgrade or uninstall, removed by the uninstall;
# - creates %ProgramData%\Otelcol\Supervisor (the supervisor's default storage) that only
#   SYSTEM and Administrators can open;
# - never overwrites or removes config.yaml once installed, so upgrades keep the edited one;
# - replaces any older (or the same) version: all versions share CPACK_WIX_UPGRADE_GUID.
# The service, folder and ACL are in installer/windows/wix-patch.xml; the same definitions
# for wixl (to build and inspect an MSI on Linux) are in
# installer/windows/opampsupervisor-wixl.wxs.
#
# The ZIP holds the same files for installs without the MSI
# (`opampsupervisor service install` registers the service).
#
# Included by cmake/Packaging.cmake on WIN32, before include(CPack).

set(CPACK_GENERATOR "WIX;ZIP")

# The patch file and the service arguments are written for WiX v3 (CMake 3.30 added v4).
set(CPACK_WIX_VERSION 3)

# Never change: upgrades find the old version by it.
set(CPACK_WIX_UPGRADE_GUID "7AAE01F5-48D1-4610-9641-78EB3F2A268D")

# The MSI is written for one architecture; ProgramFiles64Folder unless x86.
if(CMAKE_CXX_COMPILER_ARCHITECTURE_ID MATCHES "^(ARM64|arm64)$")
    set(CPACK_WIX_ARCHITECTURE arm64)
elseif(CMAKE_SIZEOF_VOID_P EQUAL 8)
    set(CPACK_WIX_ARCHITECTURE x64)
else()
    set(CPACK_WIX_ARCHITECTURE x86)
endif()

# A service is installed for the machine. CMake 3.29 added the variable; older versions
# leave InstallScope out, and ALLUSERS=1 gives the same per-machine install (setting both
# would define ALLUSERS twice).
if(CMAKE_VERSION VERSION_GREATER_EQUAL 3.29)
    set(CPACK_WIX_INSTALL_SCOPE perMachine)
else()
    set(CPACK_WIX_PROPERTY_ALLUSERS 1)
endif()

set(CPACK_PACKAGE_INSTALL_DIRECTORY "OpenTelemetry OpAMP Supervisor")
# No shortcuts are made; "." also leaves out the Start menu folder and its uninstall link.
set(CPACK_WIX_PROGRAM_MENU_FOLDER ".")

set(_opampsup_windows_dir "${CMAKE_CURRENT_LIST_DIR}/../installer/windows")
get_filename_component(_opampsup_windows_dir "${_opampsup_windows_dir}" ABSOLUTE)

# ServiceInstall/ServiceControl/PermissionEx, and util:ServiceConfig from WixUtilExtension.
set(CPACK_WIX_PATCH_FILE "${_opampsup_windows_dir}/wix-patch.xml")
list(APPEND CPACK_WIX_EXTENSIONS WixUtilExtension)

# wix-patch.xml names the exe's component after its path, bin/opampsupervisor.exe.
if(NOT CMAKE_INSTALL_BINDIR STREQUAL "bin")
    message(FATAL_ERROR "installer/windows/wix-patch.xml expects the exe in bin/, "
                        "not ${CMAKE_INSTALL_BINDIR}/ (CMAKE_INSTALL_BINDIR)")
endif()

# The default config, in the install root where the service's --config points. WIX only:
# NeverOverwrite keeps an existing config.yaml (a repair or an upgrade leaves it as edited),
# Permanent keeps it through an uninstall, and through an upgrade, which uninstalls the old
# version before installing the new one.
install(FILES "${_opampsup_windows_dir}/config.yaml" DESTINATION .)
set_property(INSTALL "config.yaml" PROPERTY CPACK_NEVER_OVERWRITE ON)
set_property(INSTALL "config.yaml" PROPERTY CPACK_PERMANENT ON)

unset(_opampsup_windows_dir)
