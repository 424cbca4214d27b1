/**
 * GPU instance shapes the inference fleets can run on: one NVIDIA GPU each, its memory, and the
 * machine around it. Prices live in the shared catalog (`aws.ec2.<type>`, with their source and
 * date); this table only says what a type is. Source: the project reference
 * self-hosted-inference.md, section 5 (GPU MiB from Karpenter's instance-types.md, vCPU and memory
 * from the EC2 instance type pages). Compute capability: NVIDIA's CUDA GPU table (T4 7.5, A10G 8.6,
 * L4 and L40S 8.9).
 */

export interface GpuInstanceShape {
  /** The GPU model. */
  gpu: 'NVIDIA T4' | 'NVIDIA A10G' | 'NVIDIA L4' | 'NVIDIA L40S';
  /** GPUs on the instance (the fleets plan one server per GPU). */
  gpus: 1;
  /** Memory of the GPU, MiB (what nvidia-smi reports as total). */
  gpuMemoryMiB: number;
  /** CUDA compute capability: FP8 weights and activations (W8A8) need 8.9 or above. */
  computeCapability: number;
  vcpu: number;
  memoryGiB: number;
}

export const GPU_INSTANCE_SHAPES: Readonly<Record<string, GpuInstanceShape>> = {
  'g4dn.xlarge': { gpu: 'NVIDIA T4', gpus: 1, gpuMemoryMiB: 16_384, computeCapability: 7.5, vcpu: 4, memoryGiB: 16 },
  'g5.xlarge': { gpu: 'NVIDIA A10G', gpus: 1, gpuMemoryMiB: 22_888, computeCapability: 8.6, vcpu: 4, memoryGiB: 16 },
  'g5.2xlarge': { gpu: 'NVIDIA A10G', gpus: 1, gpuMemoryMiB: 22_888, computeCapability: 8.6, vcpu: 8, memoryGiB: 32 },
  'g6.xlarge': { gpu: 'NVIDIA L4', gpus: 1, gpuMemoryMiB: 22_888, computeCapability: 8.9, vcpu: 4, memoryGiB: 16 },
  'g6.2xlarge': { gpu: 'NVIDIA L4', gpus: 1, gpuMemoryMiB: 22_888, computeCapability: 8.9, vcpu: 8, memoryGiB: 32 },
  'g6e.xlarge': { gpu: 'NVIDIA L40S', gpus: 1, gpuMemoryMiB: 45_776, computeCapability: 8.9, vcpu: 4, memoryGiB: 32 },
  'g6e.2xlarge': { gpu: 'NVIDIA L40S', gpus: 1, gpuMemoryMiB: 45_776, computeCapability: 8.9, vcpu: 8, memoryGiB: 64 },
};

export const GPU_INSTANCE_TYPES = Object.keys(GPU_INSTANCE_SHAPES) as [string, ...string[]];

/** GPU memory in GiB. */
export function gpuMemoryGiB(shape: GpuInstanceShape): number {
  return shape.gpuMemoryMiB / 1024;
}
