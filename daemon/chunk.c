#include "chunk.h"

/* splitmix64: a fixed, portable source of the gear table's 256 values. */
static uint64_t splitmix64(uint64_t *state) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

/* The top `bits` bits: the hash shifts left at each byte, so they depend on the last 64 bytes. */
static uint64_t top_bits(unsigned bits) {
        return bits == 0 ? 0 : ~0ULL << (64 - bits);
}

void ib_chunker_init(struct ib_chunker *c, uint32_t avg) {
        unsigned lg = 0;
        while ((1u << lg) < avg)
                lg++;
        c->avg = avg;
        c->min = avg / 4;
        c->normal = avg - avg / 4;
        c->max = avg * 4;
        c->mask_small = top_bits(lg + 2);
        c->mask_large = top_bits(lg - 2);
        uint64_t state = 0x696e6574626f6f74ULL; /* "inetboot" */
        for (int i = 0; i < 256; i++)
                c->gear[i] = splitmix64(&state);
}

size_t ib_chunk_next(const struct ib_chunker *c, const uint8_t *data, size_t len) {
        if (len <= c->min)
                return len;
        size_t limit = len < c->max ? len : c->max;
        size_t normal = c->normal < limit ? c->normal : limit;
        uint64_t h = 0;
        size_t i = c->min;
        for (; i < normal; i++) {
                h = (h << 1) + c->gear[data[i]];
                if (!(h & c->mask_small))
                        return i + 1;
        }
        for (; i < limit; i++) {
                h = (h << 1) + c->gear[data[i]];
                if (!(h & c->mask_large))
                        return i + 1;
        }
        return limit;
}
