import { Module } from '@nestjs/common';
import { DemoSeedService, SeedDemoCommand } from './seed-demo.command';

@Module({ providers: [SeedDemoCommand, DemoSeedService] })
export class DemoModule {}
