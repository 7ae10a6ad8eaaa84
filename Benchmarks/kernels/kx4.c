// K decode kernels, rows as stored against the interleaved copy (wk_qrepack_x4), called directly:
// ns per super-block, one thread, rows of 2048 random blocks (f16 scales kept finite).
//   clang -O2 -I Sources/CWeightKitKernels -I Sources/CWeightKitKernels/include \
//     Benchmarks/kernels/kx4.c Sources/CWeightKitKernels/*.c -o /tmp/kx4 -lm
//   /tmp/kx4 QTYPE ROWS ISA REPS    # QTYPE 5 Q4_K, 6 Q6_K, 7 Q5_K, 8 Q3_K, 9 Q2_K; ISA 1 AVX2, 2 VNNI
// 64-1024 rows stay in cache; 16384 do not. Prints the largest difference of the two products.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>
#include <math.h>
#include "wk_config.h"
#include "wk_qkernels.h"
void wk_kmatvec(wk_config cfg, int qtype, const void *w, const float *x, float *y, long cols, long row0, long row1);
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  int qt=atoi(argv[1]); long rows=atol(argv[2]), cols=2048; int isa=atoi(argv[3]); long reps=atol(argv[4]);
  long bb = qt==5?144: qt==6?210: qt==7?176: qt==8?110: 84, doff = qt==5||qt==7?0: qt==6?208: qt==8?108: 80;
  long nsb=rows*cols/256, bytes=nsb*bb;
  uint8_t *w=aligned_alloc(64,(bytes+63)/64*64); for(long i=0;i<bytes;i++) w[i]=rand();
  for(long b=0;b<nsb;b++){ uint8_t*p=w+b*bb; p[doff+1]&=0x3b; if(qt==5||qt==7) p[3]&=0x3b; if(qt==9) p[doff+3]&=0x3b; }
  uint8_t *w4=aligned_alloc(64,(wk_qx4_bytes(qt,rows,cols)+63)/64*64); wk_qrepack_x4(qt,w,rows,cols,w4);
  float *x=malloc(cols*4),*y=malloc(rows*4),*y2=malloc(rows*4); for(long i=0;i<cols;i++) x[i]=(rand()%2001-1000)/1000.0f;
  wk_config c={isa,0};
  wk_kmatvec(c,qt,w,x,y,cols,0,rows); wk_kmatvec(c,qt|WK_QX4,w4,x,y2,cols,0,rows);
  double md=0, mx=0; for(long r=0;r<rows;r++){ double d=fabs(y[r]-y2[r]); if(d>md) md=d; if(fabs(y[r])>mx) mx=fabs(y[r]); }
  printf("max diff %g (max |y| %g)\n", md, mx);
  for(int it=0;it<2;it++){
  double t0=now(); for(long r=0;r<reps;r++) wk_kmatvec(c,qt,w,x,y,cols,0,rows); double t=now()-t0;
  double t1=now(); for(long r=0;r<reps;r++) wk_kmatvec(c,qt|WK_QX4,w4,x,y2,cols,0,rows); double tt=now()-t1;
  printf("type %d rows %ld isa %d: rowwise %.2f ns/SB, x4 %.2f ns/SB\n",qt,rows,isa,t/reps/nsb*1e9, tt/reps/nsb*1e9);}
}
