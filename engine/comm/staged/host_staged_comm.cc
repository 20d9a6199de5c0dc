#include "engine/comm/staged/host_staged_comm.h"

#include <algorithm>
#include <string>

namespace engine {
namespace {

// Page-locked host memory, so that copies to and from the GPU are DMA.
class PinnedStorage final : public TensorStorage {
 public:
  static StatusOr<std::shared_ptr<PinnedStorage>> Allocate(std::size_t bytes) {
    void* data = nullptr;
    if (cudaError_t e = cudaMallocHost(&data, bytes); e != cudaSuccess) {
      return cluster::ResourceExhaustedError("cudaMallocHost of " + std::to_string(bytes) +
                                             " bytes: " + cudaGetErrorString(e));
    }
    return std::make_shared<PinnedStorage>(data, bytes);
  }
  PinnedStorage(void* data, std::size_t bytes) : data_(data), bytes_(bytes) {}
  ~PinnedStorage() override { cudaFreeHost(data_); }
  void* data() override { return data_; }
  std::size_t num_bytes() const override { return bytes_; }

 private:
  void* data_;
  std::size_t bytes_;
};

Status Cuda(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  return cluster::InternalError(std::string("host-staged comm: ") + what + ": " + cudaGetErrorString(e));
}

}  // namespace

StatusOr<Tensor> HostStagedComm::Staging(int slot, const Tensor& like) {
  std::shared_ptr<TensorStorage>& buffer = buffers_[slot];
  if (buffer == nullptr || buffer->num_bytes() < like.num_bytes()) {
    CLUSTER_ASSIGN_OR_RETURN(auto pinned, PinnedStorage::Allocate(std::max<std::size_t>(like.num_bytes(), 1)));
    buffer = std::move(pinned);
  }
  return Tensor(buffer, like.shape(), like.dtype());
}

Status HostStagedComm::Drain() { return Cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

Status HostStagedComm::ToHost(const Tensor& device, Tensor& host) {
  CLUSTER_RETURN_IF_ERROR(Cuda(cudaMemcpyAsync(host.data(), device.data(), device.num_bytes(), cudaMemcpyDeviceToHost, stream_),
                               "copy to the host"));
  return Drain();
}

Status HostStagedComm::ToDevice(const Tensor& host, Tensor& device) {
  return Cuda(cudaMemcpyAsync(device.data(), host.data(), host.num_bytes(), cudaMemcpyHostToDevice, stream_),
              "copy to the GPU");
}

Status HostStagedComm::AllReduceSum(Tensor& tensor) {
  CLUSTER_ASSIGN_OR_RETURN(Tensor host, Staging(0, tensor));
  CLUSTER_RETURN_IF_ERROR(ToHost(tensor, host));
  CLUSTER_RETURN_IF_ERROR(host_->AllReduceSum(host));
  return ToDevice(host, tensor);
}

Status HostStagedComm::AllGather(const Tensor& in, Tensor& out) {
  CLUSTER_RETURN_IF_ERROR(CheckAllGatherShapes(in, out, world_size()));
  CLUSTER_ASSIGN_OR_RETURN(Tensor host_in, Staging(0, in));
  CLUSTER_ASSIGN_OR_RETURN(Tensor host_out, Staging(1, out));
  CLUSTER_RETURN_IF_ERROR(ToHost(in, host_in));
  CLUSTER_RETURN_IF_ERROR(host_->AllGather(host_in, host_out));
  return ToDevice(host_out, out);
}

Status HostStagedComm::Broadcast(Tensor& tensor, int root) {
  CLUSTER_ASSIGN_OR_RETURN(Tensor host, Staging(0, tensor));
  CLUSTER_RETURN_IF_ERROR(rank() == root ? ToHost(tensor, host) : Drain());
  CLUSTER_RETURN_IF_ERROR(host_->Broadcast(host, root));
  return rank() == root ? Status::Ok() : ToDevice(host, tensor);
}

Status HostStagedComm::Send(const Tensor& tensor, int peer) {
  CLUSTER_ASSIGN_OR_RETURN(Tensor host, Staging(0, tensor));
  CLUSTER_RETURN_IF_ERROR(ToHost(tensor, host));
  return host_->Send(host, peer);
}

Status HostStagedComm::Recv(Tensor& tensor, int peer) {
  CLUSTER_ASSIGN_OR_RETURN(Tensor host, Staging(0, tensor));
  CLUSTER_RETURN_IF_ERROR(Drain());
  CLUSTER_RETURN_IF_ERROR(host_->Recv(host, peer));
  return ToDevice(host, tensor);
}

}  // namespace engine
