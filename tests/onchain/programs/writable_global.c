/* Must be refused by the linker: Solana programs have no writable globals (.data / .bss). */
typedef unsigned long long u64;

#ifdef ZERO_INITIALISED
static u64 counter; /* lands in .bss */
#else
u64 counter = 5; /* lands in .data */
#endif

u64 entrypoint(const unsigned char *input) {
  counter += input[0];
  return counter;
}
