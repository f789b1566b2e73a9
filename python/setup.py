"""Builds the _faceid extension through the project's CMake (the parent folder), so the module
is compiled exactly as in a normal build. Metadata lives in pyproject.toml."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SOURCE_ROOT = Path(__file__).resolve().parent.parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = Path(self.build_temp).resolve() / "cmake"
        subprocess.run(
            ["cmake", "-S", str(SOURCE_ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
             f"-DPython_EXECUTABLE={sys.executable}", "-DFACEID_BUILD_PYTHON=ON",
             "-DFACEID_BUILD_TESTS=OFF", "-DFACEID_BUILD_BENCHMARKS=OFF"],
            check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_faceid", "-j", jobs], check=True)
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build_dir / "python" / "faceid" / target.name, target)


setup(ext_modules=[Extension("faceid._faceid", sources=[])], cmdclass={"build_ext": CMakeBuild})
