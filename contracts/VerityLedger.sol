// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {VerifierRegistry} from "./VerifierRegistry.sol";

/**
 * @title VerityLedger
 * @notice Commits the Merkle roots of batches of verified inference records, each co-signed by a
 * quorum of the verifiers registered in `registry`.
 *
 * A batch is a Merkle tree of records' leaf hashes, hashed as OpenZeppelin's merkle-tree library
 * does; only its root, size and the block it landed in are stored, so settling costs the same
 * whatever the size. The ledger knows leaves by hash only: how a record is laid out in its leaf
 * is the protocol's business (packages/protocol/src/merkle-leaf.ts), so a new leaf version needs no new
 * contract.
 *
 * Anyone may submit a batch: the verifiers' EIP-712 signatures are the authority, the submitter
 * only pays gas. Signatures must be ordered by signer address, strictly ascending: that proves
 * the signers distinct in one comparison each. Every signature must come from a verifier
 * registered at the time of settlement (a key removed since signing no longer counts), and
 * there must be at least `registry.threshold()` of them.
 *
 * There is no owner: the ledger cannot be paused, and a settled root can never change. A batch
 * id settles once; re-sending it reverts with `BatchAlreadySettled`, which makes a retry after
 * a lost receipt harmless.
 */
contract VerityLedger is EIP712 {
    /// @notice One settled batch. `root == 0` means "not settled".
    struct Batch {
        bytes32 root;
        uint32 count;
        uint64 blockNumber;
        uint64 timestamp;
    }

    bytes32 public constant BATCH_TYPEHASH = keccak256("Batch(uint64 batchId,bytes32 root,uint32 count)");

    VerifierRegistry public immutable registry;

    mapping(uint64 batchId => Batch) private _batches;

    event BatchSettled(uint64 indexed batchId, bytes32 indexed root, uint32 count, address[] signers);

    error EmptyRoot();
    error EmptyBatch();
    error BatchAlreadySettled(uint64 batchId, bytes32 root);
    error TooFewSignatures(uint256 given, uint256 threshold);
    error InvalidSignature(uint256 index);
    error SignerNotRegistered(uint256 index, address signer);
    /// @notice The same signer as the signature before it.
    error DuplicateSigner(uint256 index, address signer);
    /// @notice A signer below the one before it: signatures must be sorted by signer, ascending.
    error UnsortedSigners(uint256 index, address signer);

    constructor(VerifierRegistry registry_) EIP712("Verity Ledger", "1") {
        registry = registry_;
    }

    /**
     * @notice Settles batch `batchId`: `root` is the StandardMerkleTree root of its `count`
     * records; `signatures` are 65-byte (r, s, v) EIP-712 signatures of
     * `Batch(batchId, root, count)`, sorted by signer address ascending.
     */
    function settleBatch(uint64 batchId, bytes32 root, uint32 count, bytes[] calldata signatures) external {
        if (root == bytes32(0)) revert EmptyRoot();
        if (count == 0) revert EmptyBatch();
        bytes32 settled = _batches[batchId].root;
        if (settled != bytes32(0)) revert BatchAlreadySettled(batchId, settled);

        uint256 threshold = registry.threshold();
        if (signatures.length < threshold) revert TooFewSignatures(signatures.length, threshold);

        bytes32 digest = batchDigest(batchId, root, count);
        address[] memory signers = new address[](signatures.length);
        address previous;
        for (uint256 i; i < signatures.length; ++i) {
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signatures[i]);
            if (err != ECDSA.RecoverError.NoError) revert InvalidSignature(i);
            if (signer == previous) revert DuplicateSigner(i, signer);
            if (signer < previous) revert UnsortedSigners(i, signer);
            if (!registry.isVerifier(signer)) revert SignerNotRegistered(i, signer);
            signers[i] = signer;
            previous = signer;
        }

        _batches[batchId] = Batch(root, count, uint64(block.number), uint64(block.timestamp));
        emit BatchSettled(batchId, root, count, signers);
    }

    /// @notice The batch settled under `batchId`; all zero if none.
    function batch(uint64 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    function isSettled(uint64 batchId) external view returns (bool) {
        return _batches[batchId].root != bytes32(0);
    }

    /// @notice The EIP-712 digest that verifiers sign for a batch, under this ledger's domain.
    function batchDigest(uint64 batchId, bytes32 root, uint32 count) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(BATCH_TYPEHASH, batchId, root, count)));
    }

    /// @notice Whether `leaf` (a StandardMerkleTree leaf hash) is in settled batch `batchId`.
    function isIncluded(uint64 batchId, bytes32[] calldata proof, bytes32 leaf) public view returns (bool) {
        bytes32 root = _batches[batchId].root;
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, leaf);
    }
}
