/* contract.c - placeholder while the suite is written. */
int main(void) { return 77; }
