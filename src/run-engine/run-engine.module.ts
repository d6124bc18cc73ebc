import { Module } from '@nestjs/common';
import { GuardedTransactionRunner } from './guarded-transaction';

/** The life of a data-changing run, shared by the migration and the revert: lock, transaction, ending. */
@Module({
  providers: [GuardedTransactionRunner],
  exports: [GuardedTransactionRunner],
})
export class RunEngineModule {}
