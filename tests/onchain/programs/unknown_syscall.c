/* Links fine (any undefined call becomes a syscall import) but must fail verification. */
typedef unsigned long long u64;

extern void sol_log_(const char *message, u64 length);
extern u64 sol_launch_rockets(u64 count);

u64 entrypoint(const unsigned char *input) {
  sol_log_("launching", 9);
  return sol_launch_rockets(input[0]);
}
