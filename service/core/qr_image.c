/* qr_image.c: see qr_image.h. */
#include "core/qr_image.h"

#include <errno.h>
#include <png.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

static enum qr_image_result encode(const char *text, QRcode **qr)
{
    errno = 0;
    *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (*qr)
        return QR_IMAGE_OK;
    return errno == ENOMEM ? QR_IMAGE_NO_MEMORY : errno == ERANGE ? QR_IMAGE_TOO_LONG
                                                                  : QR_IMAGE_FAILED;
}

static int dark(const QRcode *qr, int x, int y)
{
    return qr->data[(size_t)y * (size_t)qr->width + (size_t)x] & 1;
}

static void restore(struct strbuf *out, size_t len)
{
    out->len = len;
    if (out->buf)
        out->buf[len] = '\0';
}

/* One path of the dark modules, a run of them in a row at a time. */
enum qr_image_result qr_image_svg(const char *text, struct strbuf *out)
{
    QRcode *qr;
    enum qr_image_result rc = encode(text, &qr);
    if (rc != QR_IMAGE_OK)
        return rc;
    size_t before = out->len;
    int q = QR_IMAGE_QUIET_MODULES, size = qr->width + 2 * q;
    int bad = strbuf_printf(out,
                            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                            "shape-rendering=\"crispEdges\" role=\"img\">"
                            "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
                            size, size, size, size);
    for (int y = 0; y < qr->width && !bad; y++)
        for (int x = 0; x < qr->width;) {
            if (!dark(qr, x, y)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < qr->width && dark(qr, x + run, y))
                run++;
            bad |= strbuf_printf(out, "M%d %dh%dv1h-%dz", x + q, y + q, run, run);
            x += run;
        }
    bad |= strbuf_puts(out, "\"/></svg>\n");
    QRcode_free(qr);
    if (bad) {
        restore(out, before);
        return QR_IMAGE_NO_MEMORY;
    }
    return QR_IMAGE_OK;
}

/* libpng writes through this into a strbuf, which it holds as its io
 * pointer; a failed append is remembered and ends the write. */
struct png_sink {
    struct strbuf *out;
    int bad;
};

static void sink_write(png_structp png, png_bytep data, png_size_t n)
{
    struct png_sink *s = png_get_io_ptr(png);
    if (strbuf_append(s->out, (const char *)data, n) < 0) {
        s->bad = 1;
        png_error(png, "out of memory");
    }
}

static void sink_flush(png_structp png)
{
    (void)png;
}

/* libpng's errors: no text on stderr, the caller says what failed. */
static void png_quiet_error(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

static void png_quiet_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* An 8-bit greyscale image; its rows are made one at a time. */
enum qr_image_result qr_image_png(const char *text, struct strbuf *out)
{
    QRcode *qr;
    enum qr_image_result rc = encode(text, &qr);
    if (rc != QR_IMAGE_OK)
        return rc;
    size_t before = out->len;
    int q = QR_IMAGE_QUIET_MODULES, scale = QR_IMAGE_PNG_SCALE;
    png_uint_32 px = (png_uint_32)((qr->width + 2 * q) * scale);
    /* on the heap, both: what libpng changes is read after its longjmp */
    struct png_sink *sink = calloc(1, sizeof *sink);
    png_bytep row = sink ? malloc(px) : NULL;
    png_structp png = row ? png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                                    png_quiet_error, png_quiet_warning)
                          : NULL;
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(png ? &png : NULL, NULL);
        free(row);
        free(sink);
        QRcode_free(qr);
        return QR_IMAGE_NO_MEMORY;
    }
    sink->out = out;
    if (setjmp(png_jmpbuf(png))) {
        rc = sink->bad ? QR_IMAGE_NO_MEMORY : QR_IMAGE_FAILED;
        png_destroy_write_struct(&png, &info);
        free(row);
        free(sink);
        QRcode_free(qr);
        restore(out, before);
        return rc;
    }
    png_set_write_fn(png, sink, sink_write, sink_flush);
    png_set_IHDR(png, info, px, px, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (png_uint_32 py = 0; py < px; py++) {
        int y = (int)(py / (png_uint_32)scale) - q;
        for (png_uint_32 pxx = 0; pxx < px; pxx++) {
            int x = (int)(pxx / (png_uint_32)scale) - q;
            int inside = x >= 0 && y >= 0 && x < qr->width && y < qr->width;
            row[pxx] = inside && dark(qr, x, y) ? 0x00 : 0xff;
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    free(sink);
    QRcode_free(qr);
    return QR_IMAGE_OK;
}
