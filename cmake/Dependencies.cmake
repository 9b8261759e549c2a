# Every library comes from Debian 12 (see Makefile `deps`).
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBDEFLATE REQUIRED IMPORTED_TARGET libdeflate)
# Debian's libzip CMake config references the libzip-tools binaries; pkg-config works.
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED)
# ITK is used only behind src/io's DICOM .cpp files and src/anatomy/components.cpp (slow to compile).
find_package(ITK 5.2 REQUIRED COMPONENTS ITKCommon ITKIOImageBase ITKIOGDCM ITKConnectedComponents)
find_package(yaml-cpp REQUIRED)
# libtorch (Debian 1.13, CPU) runs the nnU-Net networks; only src/segment/network.cpp includes it.
find_package(Torch REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
# The web service: cpp-httplib (Debian builds it as a shared library; its .pc carries the defines the
# ABI needs) and SQLite for the case table.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(SQLite3 REQUIRED)
