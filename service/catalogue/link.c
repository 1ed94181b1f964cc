/* link.c: dlopen-loaded link plugins; see link.h.
 *
 * A plugin is code run inside onloand, so where it comes from is checked
 * before anything of it is read: plugin_dir and the plugin file must be
 * owned by root or by the user onloand runs as, and writable by no one
 * else (group- or other-writable is refused); the file must be a regular
 * file, not a symbolic link. Both are opened once and checked through
 * their descriptors, so what is checked is what is read.
 *
 * The descriptor is then read from the file, not from memory: dlopen runs
 * a shared object's constructors (.init_array, DT_INIT) before it
 * returns, so the ABI checked after dlopen, with dlsym, would be checked
 * after code of a plugin built for another host had run. libelf (elfutils)
 * finds the symbol onloan_link_plugin in the file's dynamic symbol table
 * and gives the bytes of its section; abi_major and abi_minor, plain
 * integers that no relocation touches, are read from there. We weighed
 * parsing ELF ourselves (a few hundred bytes of <elf.h> structures, from
 * a file): a parser of a binary format is the kind of code that goes
 * wrong at its edges, and elfutils' is maintained and fuzzed; ours is a
 * symbol lookup and 8 bytes. Only a plugin whose ABI matches is
 * dlopen'ed. Its constructors then run (onloan_plugin.h says plugins
 * have none; a loader cannot prevent them short of refusing every shared
 * object, since the C runtime gives each one an .init_array of its own),
 * and the descriptor dlsym finds is checked again, whole. */
#include "catalogue/link.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DESCRIPTOR_SYMBOL "onloan_link_plugin"

static int out_put(void *ctx, const char *s, size_t n)
{
    return strbuf_append(ctx, s, n);
}

static int out_put_escaped(void *ctx, const char *s, size_t n)
{
    return strbuf_urlencode(ctx, s, n);
}

/* Whether only root and we can change what st describes; says why not. */
static int only_ours(const struct stat *st, const char *what, struct strbuf *err)
{
    uid_t me = geteuid();
    if (st->st_uid != 0 && st->st_uid != me) {
        strbuf_printf(err, "%s: owned by uid %u: plugins are loaded only from root's or "
                      "onloand's own (uid %u)", what, (unsigned)st->st_uid, (unsigned)me);
        return 0;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        strbuf_printf(err, "%s: writable by its group or others (mode %04o): chmod go-w it",
                      what, (unsigned)(st->st_mode & 07777));
        return 0;
    }
    return 1;
}

/* The ABI numbers of the descriptor in the ELF file open at fd, read
 * without loading it. -1 with the reason in err. */
static int read_abi(int fd, const char *path, unsigned abi[2], struct strbuf *err)
{
    if (elf_version(EV_CURRENT) == EV_NONE) {
        strbuf_printf(err, "%s: libelf: %s", path, elf_errmsg(-1));
        return -1;
    }
    Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    GElf_Ehdr eh;
    int rc = -1;
    const unsigned char *ident = e && elf_kind(e) == ELF_K_ELF ? (const unsigned char *)
                                                               elf_getident(e, NULL) : NULL;
    if (!ident || !gelf_getehdr(e, &eh) || eh.e_type != ET_DYN) {
        strbuf_printf(err, "%s: not an ELF shared object", path);
        goto done;
    }
    static const unsigned one = 1;
    int little = *(const unsigned char *)&one == 1;
    if (ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
        ident[EI_DATA] != (little ? ELFDATA2LSB : ELFDATA2MSB)) {
        strbuf_printf(err, "%s: built for another machine (ELF class or byte order)", path);
        goto done;
    }
    Elf_Scn *scn = NULL;
    GElf_Shdr sh;
    while ((scn = elf_nextscn(e, scn)) && (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM))
        ;
    Elf_Data *syms = scn ? elf_getdata(scn, NULL) : NULL;
    size_t nsyms = syms && sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
    for (size_t i = 0; i < nsyms; i++) {
        GElf_Sym sym;
        const char *name;
        if (!gelf_getsym(syms, (int)i, &sym) ||
            !(name = elf_strptr(e, sh.sh_link, sym.st_name)) || strcmp(name, DESCRIPTOR_SYMBOL) != 0 ||
            sym.st_shndx == SHN_UNDEF)
            continue;
        Elf_Scn *in = sym.st_shndx < SHN_LORESERVE ? elf_getscn(e, sym.st_shndx) : NULL;
        GElf_Shdr ish;
        Elf_Data *d = in && gelf_getshdr(in, &ish) && ish.sh_type == SHT_PROGBITS ?
                      elf_getdata(in, NULL) : NULL;
        if (GELF_ST_TYPE(sym.st_info) != STT_OBJECT || sym.st_size < 2 * sizeof(unsigned) ||
            !d || !d->d_buf || sym.st_value < ish.sh_addr ||
            sym.st_value - ish.sh_addr > d->d_size ||
            d->d_size - (sym.st_value - ish.sh_addr) < 2 * sizeof(unsigned)) {
            strbuf_printf(err, "%s: %s is not a plugin descriptor", path, DESCRIPTOR_SYMBOL);
            goto done;
        }
        memcpy(abi, (const char *)d->d_buf + (sym.st_value - ish.sh_addr), 2 * sizeof(unsigned));
        rc = 0;
        goto done;
    }
    strbuf_printf(err, "%s: no symbol %s", path, DESCRIPTOR_SYMBOL);
done:
    if (e)
        elf_end(e);
    return rc;
}

static int abi_ok(const unsigned abi[2], const char *path, struct strbuf *err)
{
    if (abi[0] == ONLOAN_PLUGIN_ABI_MAJOR && abi[1] <= ONLOAN_PLUGIN_ABI_MINOR)
        return 1;
    strbuf_printf(err, "%s: plugin ABI %u.%u, host has %d.%d (major must match, minor not be newer)",
                  path, abi[0], abi[1], ONLOAN_PLUGIN_ABI_MAJOR, ONLOAN_PLUGIN_ABI_MINOR);
    return 0;
}

/* Opens dir/file.so for reading after checking who may change the two;
 * its descriptor, or -1 with the reason in err. */
static int open_checked(const char *dir, const char *path, struct strbuf *err)
{
    if (dir[0] != '/') {
        strbuf_printf(err, "plugin_dir: must be an absolute path, got \"%s\"", dir);
        return -1;
    }
    struct stat st;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fstat(dfd, &st) < 0) {
        strbuf_printf(err, "%s: cannot open: %s", dir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    if (!only_ours(&st, dir, err)) {
        close(dfd);
        return -1;
    }
    const char *base = path + strlen(dir) + 1;
    int fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    int saved = errno;
    close(dfd);
    if (fd < 0) {
        strbuf_printf(err, "%s: cannot load: %s", path, saved == ELOOP ?
                      "a symbolic link: put the plugin itself in plugin_dir" : strerror(saved));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        strbuf_printf(err, "%s: cannot load: not a regular file", path);
    } else if (only_ours(&st, path, err)) {
        return fd;
    }
    close(fd);
    return -1;
}

struct link *link_open(const char *dir, const json_t *conf, struct strbuf *err)
{
    const char *name = json_string_value(json_object_get(conf, "plugin"));
    if (!name || !*name || strchr(name, '/') || strchr(name, '.')) {
        strbuf_printf(err, "plugin: must be a plugin name like \"koha\"");
        return NULL;
    }
    struct strbuf path = {0};
    struct link *l = NULL;
    unsigned abi[2];
    if (strbuf_printf(&path, "%s/%s.so", dir, name) < 0 || !(l = calloc(1, sizeof *l))) {
        strbuf_printf(err, "%s plugin: out of memory", name);
        strbuf_free(&path);
        return NULL;
    }
    const char *file = strbuf_cstr(&path);
    int fd = open_checked(dir, file, err);
    if (fd < 0)
        goto fail;
    int got = read_abi(fd, file, abi, err);
    close(fd);
    if (got < 0 || !abi_ok(abi, file, err))
        goto fail;
    /* Only now is any of its code run (its constructors, if it has any). */
    l->dl = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!l->dl) {
        strbuf_printf(err, "%s: cannot load: %s", file, dlerror());
        goto fail;
    }
    l->plugin = dlsym(l->dl, DESCRIPTOR_SYMBOL);
    const struct onloan_link_plugin *p = l->plugin;
    if (!p) {
        strbuf_printf(err, "%s: no symbol %s", file, DESCRIPTOR_SYMBOL);
        goto fail;
    }
    unsigned loaded[2] = {p->abi_major, p->abi_minor};
    if (!abi_ok(loaded, file, err))
        goto fail;
    if (!p->name || strcmp(p->name, name) != 0 || !p->init || !p->reserve_url ||
        !p->record_url || !p->fini) {
        strbuf_printf(err, "%s: incomplete descriptor or name is not \"%s\"", file, name);
        goto fail;
    }
    char why[256] = "";
    if (p->init(conf, &l->state, why, sizeof why) < 0) {
        strbuf_printf(err, "%s plugin: %s", name, why);
        goto fail;
    }
    strbuf_free(&path);
    return l;
fail:
    if (l->dl)
        dlclose(l->dl);
    free(l);
    strbuf_free(&path);
    return NULL;
}

void link_close(struct link *l)
{
    if (!l)
        return;
    l->plugin->fini(l->state);
    dlclose(l->dl);
    free(l);
}

int link_reserve_url(const struct link *l, const char *record, struct strbuf *out)
{
    struct onloan_out o = {out, out_put, out_put_escaped};
    return l->plugin->reserve_url(l->state, record, &o);
}

int link_record_url(const struct link *l, const char *record, struct strbuf *out)
{
    struct onloan_out o = {out, out_put, out_put_escaped};
    return l->plugin->record_url(l->state, record, &o);
}
