"""Builds the _faceid extension with the project's CMake, reusing a C++ build when there is one,
so `pip wheel` / `pip install` compile the library once, not at every install. In order:

1. FACEID_BUILD_DIR=<a configured build tree of this project>: only its `_faceid` target is
   brought up to date (nothing, when it is built already) and copied into the wheel.
2. <source>/build, the README's build folder, when it is configured: the same.
3. Otherwise the binding alone (python/CMakeLists.txt, one source file) is built against an
   installed FaceID found by find_package(faceid) (CMAKE_PREFIX_PATH / FACEID_PREFIX).
4. Otherwise the whole project is built in <source>/build-wheel, kept for the next install.

CMake's output streams to pip's (`pip wheel -v` shows it live) and to <build>/python-wheel.log.
Metadata lives in pyproject.toml."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

PYTHON_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PYTHON_DIR.parent


def configured(build_dir):
    return build_dir is not None and (Path(build_dir) / "CMakeCache.txt").is_file()


def run_logged(command, log):
    """Runs a command, copying its output line by line to our stdout and to the log file."""
    print("faceid wheel: " + " ".join(command), flush=True)
    log.write("$ " + " ".join(command) + "\n")
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            log.write(line)
            log.flush()
    if process.returncode != 0:
        raise SystemExit(f"faceid wheel: {command[0]} failed (exit {process.returncode}); see {log.name}")


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        build_dir, configure = self.choose_build()
        build_dir.mkdir(parents=True, exist_ok=True)
        with open(build_dir / "python-wheel.log", "w") as log:
            if configure:
                run_logged(configure, log)
            run_logged(["cmake", "--build", str(build_dir), "--target", "_faceid", "-j", jobs], log)
        target = Path(self.get_ext_fullpath(ext.name))
        built = build_dir / "python" / "faceid" / target.name
        if not built.is_file():  # a standalone build of python/ lays the package out one level up
            built = build_dir / "faceid" / target.name
        if not built.is_file():
            raise SystemExit(f"faceid wheel: {target.name} not found in {build_dir}: was that tree configured "
                             f"for this Python ({sys.executable})?")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)

    def choose_build(self):
        """(build folder, configure command or None when the folder is configured already)."""
        python = f"-DPython_EXECUTABLE={sys.executable}"
        given = os.environ.get("FACEID_BUILD_DIR")
        if given:
            if not configured(given):
                raise SystemExit(f"faceid wheel: FACEID_BUILD_DIR={given} is not a configured CMake build folder")
            return Path(given).resolve(), None
        if configured(SOURCE_ROOT / "build"):
            return SOURCE_ROOT / "build", None
        if (SOURCE_ROOT / "CMakeLists.txt").is_file() and not self.installed_faceid():
            return SOURCE_ROOT / "build-wheel", [
                "cmake", "-S", str(SOURCE_ROOT), "-B", str(SOURCE_ROOT / "build-wheel"), "-DCMAKE_BUILD_TYPE=Release",
                python, "-DFACEID_BUILD_PYTHON=ON", "-DFACEID_BUILD_TESTS=OFF", "-DFACEID_BUILD_BENCHMARKS=OFF"]
        build_dir = Path(self.build_temp).resolve() / "binding"
        command = ["cmake", "-S", str(PYTHON_DIR), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release", python]
        if os.environ.get("FACEID_PREFIX"):
            command.append("-DCMAKE_PREFIX_PATH=" + os.environ["FACEID_PREFIX"])
        return build_dir, command

    @staticmethod
    def installed_faceid():
        """Whether find_package(faceid) can succeed: an explicit prefix was given."""
        return bool(os.environ.get("FACEID_PREFIX") or os.environ.get("CMAKE_PREFIX_PATH"))


setup(ext_modules=[Extension("faceid._faceid", sources=[])], cmdclass={"build_ext": CMakeBuild})
