__global__ void outside() {}
