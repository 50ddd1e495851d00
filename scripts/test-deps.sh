#!/usr/bin/env bash
# Installs, from Debian's packages, the programs the tests drive and fail
# without: Chromium (headless, through chromedp) for the browser tests,
# poppler-utils (pdftotext) to read exported PDFs back, and LibreOffice Calc
# without its GUI (soffice) to read exported workbooks back; DejaVu fonts
# for Latin accents in the screenshots. Safe to run again; quiet when all is
# there. Prints the path of each program.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
[ -d /usr/share/fonts/truetype/dejavu ] || need+=(fonts-dejavu-core)
# soffice alone is not enough: it comes with libreoffice-core, and only the
# Calc package brings the spreadsheet filters (libsclo.so) beside it.
office=1
soffice=$(command -v soffice || command -v libreoffice || true)
[ -n "$soffice" ] && [ -e "$(dirname "$(readlink -f "$soffice")")/libsclo.so" ] && office=0
if [ ${#need[@]} -gt 0 ] || [ $office -eq 1 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  if [ $office -eq 1 ]; then
    # The -nogui flavour (Debian 12 and later) leaves out the X11 and GTK
    # libraries a headless conversion does not use.
    candidate=$(apt-cache policy libreoffice-calc-nogui 2>/dev/null | sed -n 's/^ *Candidate: //p')
    if [ -n "$candidate" ] && [ "$candidate" != "(none)" ]; then
      need+=(libreoffice-calc-nogui)
    else
      need+=(libreoffice-calc)
    fi
  fi
  echo "installing ${need[*]}" >&2
  $SUDO apt-get install -y -qq -o=Dpkg::Use-Pty=0 --no-install-recommends "${need[@]}" >/dev/null
fi
command -v chromium
command -v pdftotext
soffice=$(command -v soffice || command -v libreoffice)
[ -e "$(dirname "$(readlink -f "$soffice")")/libsclo.so" ] || { echo "LibreOffice Calc is not installed" >&2; exit 1; }
echo "$soffice"
