// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

/**
 * @title VerifierRegistry
 * @notice The source of truth for which verifier keys count towards a settlement quorum, and how
 * many of them (`threshold`) must co-sign a batch.
 *
 * Invariant, from construction on: 1 <= threshold <= verifierCount. Any change that would break
 * it (a threshold of 0 or above the count, removing a verifier the threshold still needs) is
 * refused, so a reader never sees a registry that accepts nothing or can never be satisfied.
 *
 * The owner is meant to be a multisig or timelock. Ownership moves in two steps (the new owner
 * must accept), and it cannot be renounced: an ownerless registry could never rotate a
 * compromised verifier key out.
 */
contract VerifierRegistry is Ownable2Step {
    using EnumerableSet for EnumerableSet.AddressSet;

    EnumerableSet.AddressSet private _verifiers;
    uint256 private _threshold;

    event VerifierAdded(address indexed verifier);
    event VerifierRemoved(address indexed verifier);
    event ThresholdChanged(uint256 previousThreshold, uint256 newThreshold);

    /// @notice The zero address can never be a verifier: it is what a failed ecrecover returns.
    error InvalidVerifier(address verifier);
    error VerifierAlreadyRegistered(address verifier);
    error VerifierNotRegistered(address verifier);
    /// @notice `threshold` is not in [1, verifierCount]: by `setThreshold`, or by a removal.
    error InvalidThreshold(uint256 threshold, uint256 verifierCount);
    error OwnershipCannotBeRenounced();

    constructor(
        address initialOwner,
        address[] memory initialVerifiers,
        uint256 initialThreshold
    ) Ownable(initialOwner) {
        for (uint256 i; i < initialVerifiers.length; ++i) {
            _addVerifier(initialVerifiers[i]);
        }
        _setThreshold(initialThreshold);
    }

    function addVerifier(address verifier) external onlyOwner {
        _addVerifier(verifier);
    }

    function addVerifiers(address[] calldata verifiers_) external onlyOwner {
        for (uint256 i; i < verifiers_.length; ++i) {
            _addVerifier(verifiers_[i]);
        }
    }

    /// @notice Refused when the remaining verifiers could no longer meet the threshold: lower the
    /// threshold first (or add a replacement).
    function removeVerifier(address verifier) external onlyOwner {
        if (!_verifiers.remove(verifier)) revert VerifierNotRegistered(verifier);
        uint256 remaining = _verifiers.length();
        if (_threshold > remaining) revert InvalidThreshold(_threshold, remaining);
        emit VerifierRemoved(verifier);
    }

    function setThreshold(uint256 newThreshold) external onlyOwner {
        _setThreshold(newThreshold);
    }

    function renounceOwnership() public view override onlyOwner {
        revert OwnershipCannotBeRenounced();
    }

    function isVerifier(address account) external view returns (bool) {
        return _verifiers.contains(account);
    }

    /// @notice How many distinct registered verifiers must sign a batch.
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    function verifierCount() external view returns (uint256) {
        return _verifiers.length();
    }

    /// @notice Every registered verifier, in no guaranteed order (removal reorders the set).
    function verifiers() external view returns (address[] memory) {
        return _verifiers.values();
    }

    function _addVerifier(address verifier) private {
        if (verifier == address(0)) revert InvalidVerifier(verifier);
        if (!_verifiers.add(verifier)) revert VerifierAlreadyRegistered(verifier);
        emit VerifierAdded(verifier);
    }

    function _setThreshold(uint256 newThreshold) private {
        uint256 count = _verifiers.length();
        if (newThreshold == 0 || newThreshold > count) revert InvalidThreshold(newThreshold, count);
        emit ThresholdChanged(_threshold, newThreshold);
        _threshold = newThreshold;
    }
}
