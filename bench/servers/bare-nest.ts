// (b) The baseline: Nest 11 on Fastify with no observability modules, same endpoint.
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

@Controller()
class InfoController {
  @Get()
  info(): Record<string, string> {
    return { service: 'terra_constellata', version: '1.0.0', environment: 'production' };
  }
}

@Module({ controllers: [InfoController] })
class BareModule {}

void NestFactory.create<NestFastifyApplication>(BareModule, new FastifyAdapter(), { logger: false }).then(
  (app) => app.listen(Number(process.env.PORT), '127.0.0.1'),
);
