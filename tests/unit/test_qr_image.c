/* test_qr_image.c: QR codes as SVG and PNG (qr_image.h): well-formed,
 * the quiet zone kept, the size libqrencode chose, too long refused. */
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

#include "core/qr_image.h"
#include "core/strbuf.h"
#include "unit.h"

#define LINK "https://opac.example.org/cgi-bin/koha/opac-reserve.pl?biblionumber=f356"

static int modules_of(const char *text)
{
    QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    int w = qr ? qr->width : -1;
    QRcode_free(qr);
    return w;
}

TEST(svg_of_a_link)
{
    struct strbuf out = {0};
    CHECK(qr_image_svg(LINK, &out) == QR_IMAGE_OK);
    int side = modules_of(LINK) + 2 * QR_IMAGE_QUIET_MODULES;
    char want[64];
    snprintf(want, sizeof want, "viewBox=\"0 0 %d %d\"", side, side);
    CHECK(strncmp(out.buf, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
    CHECK(strstr(out.buf, want) != NULL);
    /* the finder pattern's top-left corner, inside the quiet zone */
    CHECK(strstr(out.buf, "d=\"M4 4h7v1h-7z") != NULL);
    CHECK(strstr(out.buf, "</svg>\n") != NULL);
    strbuf_free(&out);
}

static unsigned be32(const unsigned char *p)
{
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

TEST(png_of_a_link)
{
    struct strbuf out = {0};
    CHECK(qr_image_png(LINK, &out) == QR_IMAGE_OK);
    const unsigned char *b = (const unsigned char *)out.buf;
    CHECK(out.len > 33 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0);
    CHECK(memcmp(b + 12, "IHDR", 4) == 0);
    unsigned side = (unsigned)(modules_of(LINK) + 2 * QR_IMAGE_QUIET_MODULES) * QR_IMAGE_PNG_SCALE;
    CHECK(be32(b + 16) == side && be32(b + 20) == side);
    CHECK(b[24] == 8 && b[25] == 0);      /* 8-bit greyscale */
    CHECK(memcmp(out.buf + out.len - 8, "IEND", 4) == 0);
    strbuf_free(&out);
}

TEST(too_long_for_a_qr_code)
{
    size_t n = 3000;                      /* version 40-M holds 2331 bytes */
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    big[n] = '\0';
    struct strbuf out = {0};
    CHECK(strbuf_puts(&out, "kept") == 0);
    CHECK(qr_image_svg(big, &out) == QR_IMAGE_TOO_LONG);
    CHECK(qr_image_png(big, &out) == QR_IMAGE_TOO_LONG);
    CHECK_STR(out.buf, "kept");
    strbuf_free(&out);
    free(big);
}

int main(void)
{
    RUN(svg_of_a_link);
    RUN(png_of_a_link);
    RUN(too_long_for_a_qr_code);
    return unit_failures != 0;
}
