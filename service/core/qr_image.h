/* qr_image.h: a text (a reservation link) as a QR code image, for the
 * kiosk's screen: SVG, or PNG for what cannot show SVG.
 *
 * libqrencode makes the code (8-bit mode, error correction level M: a
 * screen's glare or a scratched glass still scans; the smallest version
 * that holds the text), libpng writes the PNG. Both have a quiet zone of
 * QR_IMAGE_QUIET_MODULES modules, as ISO/IEC 18004 asks; a PNG module is
 * QR_IMAGE_PNG_SCALE pixels. */
#ifndef ONLOAN_CORE_QR_IMAGE_H
#define ONLOAN_CORE_QR_IMAGE_H

#include "core/strbuf.h"

#define QR_IMAGE_QUIET_MODULES 4
#define QR_IMAGE_PNG_SCALE 8

enum qr_image_result {
    QR_IMAGE_OK = 0,
    QR_IMAGE_NO_MEMORY = -1,
    QR_IMAGE_TOO_LONG = -2,     /* more than a QR code (version 40) holds */
    QR_IMAGE_FAILED = -3,       /* libqrencode or libpng failed otherwise */
};

/* Appends the QR code of the NUL-terminated text to out, as an SVG
 * document or PNG bytes; on failure out holds what it held. */
enum qr_image_result qr_image_svg(const char *text, struct strbuf *out);
enum qr_image_result qr_image_png(const char *text, struct strbuf *out);

#endif
