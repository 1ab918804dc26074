"""Data-parallel training across processes, the same script alone or under `torchrun`.

    python -m lttw.train --config ...                               # one process
    torchrun --nproc_per_node 2 -m lttw.train --config ...          # two CPU processes (gloo)
    torchrun --nproc_per_node 8 -m lttw.train --config ... --set device=cuda   # eight GPUs (nccl)

torchrun sets WORLD_SIZE, RANK and LOCAL_RANK; without them this is a world of one and nothing
is initialised. Every rank draws the same global batch and keeps its own slice of it; DDP averages
the gradients, so a step is the step a single process would take on the whole batch (up to the
order of floating-point sums). Only rank 0 writes checkpoints and logs.
"""
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def shard(self, items):
        """This rank's slice of a global batch (every rank holds the same global batch)."""
        if len(items) % self.size:
            raise ValueError(f"a batch of {len(items)} does not split evenly over {self.size} processes: "
                             "choose a batch size that is a multiple of the process count")
        return items[self.rank::self.size]

    def barrier(self):
        if self.distributed:
            dist.barrier()

    def rank0(self, value: float) -> float:
        """Rank 0's `value` on every rank (the value itself in a world of one): for a decision
        every rank must take alike, such as a learning rate or a stop driven by the wall clock."""
        if not self.distributed:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.broadcast(t, 0)
        return float(t.item())

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """DDP around `module` (whose forward must be the whole training forward), else itself."""
        if not self.distributed:
            return module
        ids = [self.local_rank] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)


def join(device: str = "cpu") -> World:
    """Joins the process group torchrun describes (gloo on CPU, nccl on CUDA), or a world of one."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = torch.device(device)
    if dev.type == "cuda":
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    if size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return World(rank=rank, size=size, local_rank=local, device=dev)


def leave(world: World):
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()
