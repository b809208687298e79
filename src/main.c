/* main.c - placeholder; the real daemon entry point lands with the core issue. */
#include <stdio.h>
int main(void)
{
	fprintf(stderr, "efs-fuse: not built yet\n");
	return 1;
}
