/**
 * The Xen model (SPEC §4): machine frames and the buddy allocator, guests with their
 * p2m/m2p, XENMEM_exchange, the contiguous-region helpers swiotlb-xen calls, the IOMMU
 * and fault injection.
 *
 * @module
 */

export {
  type AllocOptions,
  DOMID_XEN,
  type FrameRun,
  FREE,
  Machine,
  type MachineOptions,
} from "./machine.ts";
export {
  type Arch,
  Domain,
  type DomainConfig,
  type DomainInit,
  type DomainLayout,
  type P2mRun,
} from "./domain.ts";
export {
  exchange,
  type ExchangeRequest,
  type ExchangeResult,
  MAX_EXCHANGE_ORDER_DOM0,
  MAX_EXCHANGE_ORDER_DOMU,
  maxExchangeOrder,
} from "./exchange.ts";
export {
  createContiguousRegion,
  type CreateContiguousResult,
  destroyContiguousRegion,
  type DestroyContiguousResult,
} from "./contig.ts";
export {
  deviceAccessFault,
  type DmaPiece,
  type DmaRangeResult,
  Iommu,
  type IommuResult,
  translateDeviceAccess,
} from "./iommu.ts";
export { Faults, type FaultState, type InjectedFailure } from "./faults.ts";
export type { RunTable } from "./_runs.ts";
export { type FrameOwnerFact, Xen, type XenOptions } from "./xen.ts";
