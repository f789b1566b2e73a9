#!/usr/bin/env bash
# Command 1 of the README: install, build, then enroll people from a folder and identify photos.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

install_debian_packages
build_faceid OFF
install_models

faceid="$FACEID_BUILD_DIR/faceid"
work="$(mktemp -d -t faceid-demo-XXXXXX)"
trap 'rm -rf "$work"' EXIT
export FACEID_GALLERY="$work/gallery.db"
models="$("$faceid" models dir)"

lfw="$FACEID_ROOT/../shared/datasets/lfw_dev/images"
if [ -d "$lfw" ]; then
  # People of LFW with many photos: all but the last two photos enroll them,
  # in the team's DB/Username/Username1.jpg layout; the last two are probes.
  echo "==> demo on LFW (../shared/datasets/lfw_dev)"
  mkdir -p "$work/db" "$work/probes"
  for person in Colin_Powell Hu_Jintao Megawati_Sukarnoputri Laura_Bush Pervez_Musharraf; do
    mapfile -t photos < <(ls "$lfw/$person" | sort)
    mkdir -p "$work/db/$person"
    n=${#photos[@]}
    for ((i = 0; i < n - 2 && i < 20; i++)); do
      ln -s "$lfw/$person/${photos[$i]}" "$work/db/$person/${person}$((i + 1)).jpg"
    done
    ln -s "$lfw/$person/${photos[$((n - 2))]}" "$work/probes/"
    ln -s "$lfw/$person/${photos[$((n - 1))]}" "$work/probes/"
  done
  # Two people who are never enrolled: they must come out as unknown.
  ln -s "$lfw/Jiang_Zemin/$(ls "$lfw/Jiang_Zemin" | head -n 1)" "$work/probes/"
  ln -s "$lfw/Nicole_Kidman/$(ls "$lfw/Nicole_Kidman" | head -n 1)" "$work/probes/"
  "$faceid" --format table enroll --from-dir "$work/db"
  echo "==> who is who (file names show the truth; Jiang_Zemin and Nicole_Kidman were never enrolled)"
  "$faceid" --format table identify "$work/probes"
else
  # No ../shared here: the group photos that set-up installed from the npm registry.
  # Each person is enrolled from one photo, then every photo is searched for them.
  echo "==> demo on the sample group photos ($models/samples)"
  for i in 1 2 3; do
    "$faceid" --format table enroll --name "person_from_sample$i" "$models/samples/sample$i.jpg"
  done
  echo "==> who is who in every sample photo"
  "$faceid" --format table identify "$models/samples"
fi
"$faceid" --format table people
